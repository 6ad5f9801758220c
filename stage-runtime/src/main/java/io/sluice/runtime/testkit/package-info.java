/**
 * A test kit for operators and stage factories: run an {@link io.sluice.runtime.api.Operator} with
 * its real serdes, without a mesh, a coordinator or threads, the way Kafka Streams'
 * {@code TopologyTestDriver} runs a topology.
 *
 * <p>{@link io.sluice.runtime.testkit.OperatorTestDriver} applies the same rules as the runtime
 * (decoding failures and exceptions from {@code process} become dead letters, the pipeline keeps
 * going) and replaces wall-clock time with a fake clock that a test advances by hand. Everything
 * here is thread-confined to the test's thread.
 */
package io.sluice.runtime.testkit;
