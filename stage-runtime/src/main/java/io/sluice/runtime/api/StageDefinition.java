package io.sluice.runtime.api;

import java.util.List;
import java.util.Objects;
import java.util.function.Supplier;

/**
 * A stage's operator with the serdes of its input and output. Immutable.
 *
 * @param keyIn decodes input keys
 * @param valueIn decodes input values
 * @param keyOut encodes output keys
 * @param valueOut encodes output values
 * @param operator makes one operator per subtask
 * @param sideOutputs the side outputs the operator may forward to (besides dead letters)
 */
public record StageDefinition<KIn, VIn, KOut, VOut>(
    Serde<KIn> keyIn,
    Serde<VIn> valueIn,
    Serde<KOut> keyOut,
    Serde<VOut> valueOut,
    Supplier<? extends Operator<KIn, VIn, KOut, VOut>> operator,
    List<OutputTag<?, ?>> sideOutputs) {

  public StageDefinition {
    Objects.requireNonNull(keyIn, "keyIn");
    Objects.requireNonNull(valueIn, "valueIn");
    Objects.requireNonNull(keyOut, "keyOut");
    Objects.requireNonNull(valueOut, "valueOut");
    Objects.requireNonNull(operator, "operator");
    sideOutputs = List.copyOf(sideOutputs);
  }

  /** A definition with no side outputs besides dead letters. */
  public static <KIn, VIn, KOut, VOut> StageDefinition<KIn, VIn, KOut, VOut> of(
      Serde<KIn> keyIn,
      Serde<VIn> valueIn,
      Serde<KOut> keyOut,
      Serde<VOut> valueOut,
      Supplier<? extends Operator<KIn, VIn, KOut, VOut>> operator) {
    return new StageDefinition<>(keyIn, valueIn, keyOut, valueOut, operator, List.of());
  }
}
