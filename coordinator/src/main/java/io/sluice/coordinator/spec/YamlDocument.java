package io.sluice.coordinator.spec;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.MissingNode;
import java.io.StringReader;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;
import org.yaml.snakeyaml.error.Mark;
import org.yaml.snakeyaml.error.MarkedYAMLException;
import org.yaml.snakeyaml.error.YAMLException;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.SequenceNode;

/**
 * A YAML document read twice over by SnakeYAML: as a node tree, which knows where each key is, and
 * as a Jackson tree of the values SnakeYAML constructs from it, which the loader reads. Values
 * come from SnakeYAML's own (safe) constructor, so YAML's rules for numbers, booleans, anchors and
 * merge keys are SnakeYAML's, not ours. Immutable after {@link #parse}; confined to the loading
 * thread.
 */
final class YamlDocument {
  private static final ObjectMapper MAPPER = new ObjectMapper();

  private final Node root;
  private final JsonNode json;

  private YamlDocument(Node root, JsonNode json) {
    this.root = root;
    this.json = json;
  }

  /** A YAML syntax error (or a value that cannot be read), with the line SnakeYAML points at. */
  static final class SyntaxError extends Exception {
    private static final long serialVersionUID = 1L;
    private final int line;

    SyntaxError(int line, String message) {
      super(message);
      this.line = line;
    }

    int line() {
      return line;
    }
  }

  /** Parses one YAML document; an empty document gives a missing root. */
  static YamlDocument parse(String text) throws SyntaxError {
    LoaderOptions options = new LoaderOptions();
    // A key given twice is almost always a mistake (the second silently wins otherwise).
    options.setAllowDuplicateKeys(false);
    ValueConstructor constructor = new ValueConstructor(options);
    try {
      Node root = new Yaml(constructor).compose(new StringReader(text));
      if (root == null) {
        return new YamlDocument(null, MissingNode.getInstance());
      }
      checkNotRecursive(root, Collections.newSetFromMap(new IdentityHashMap<>()));
      Object value = constructor.construct(root);
      return new YamlDocument(root, MAPPER.valueToTree(value));
    } catch (MarkedYAMLException e) {
      Mark mark = e.getProblemMark() != null ? e.getProblemMark() : e.getContextMark();
      int line = mark == null ? 1 : mark.getLine() + 1;
      String context = e.getContext() == null ? "" : e.getContext() + ": ";
      throw new SyntaxError(line, "YAML syntax: " + context + e.getProblem());
    } catch (YAMLException e) {
      throw new SyntaxError(1, "YAML syntax: " + e.getMessage());
    } catch (IllegalArgumentException e) {
      // Jackson refuses what JSON cannot hold, e.g. a null mapping key or a recursive alias.
      throw new SyntaxError(1, "the YAML cannot be read as JSON settings: " + e.getMessage());
    }
  }

  /** The document's values as a Jackson tree; {@link MissingNode} for an empty document. */
  JsonNode json() {
    return json;
  }

  /**
   * The 1-based line of the deepest node of {@code path} that exists: a path of mapping keys
   * ({@code String}) and sequence indices ({@code Integer}). For a mapping key, the key's line; for
   * a sequence item, the line where the item starts.
   */
  int line(List<?> path) {
    if (root == null) {
      return 1;
    }
    Node current = root;
    int line = lineOf(root);
    for (Object segment : path) {
      Node next = null;
      if (current instanceof MappingNode mapping) {
        String key = segment.toString();
        for (NodeTuple tuple : mapping.getValue()) {
          if (tuple.getKeyNode() instanceof ScalarNode k && k.getValue().equals(key)) {
            line = lineOf(k);
            next = tuple.getValueNode();
            break;
          }
        }
      } else if (current instanceof SequenceNode sequence && segment instanceof Integer index) {
        if (index >= 0 && index < sequence.getValue().size()) {
          next = sequence.getValue().get(index);
          line = lineOf(next);
        }
      }
      if (next == null) {
        break;
      }
      current = next;
    }
    return line;
  }

  /** Like {@link #line(List)}, for a path under {@code prefix} given as a dotted key. */
  int line(List<?> prefix, String dottedKey) {
    List<Object> path = new ArrayList<>(prefix);
    if (!dottedKey.isEmpty()) {
      for (String part : dottedKey.split("\\.")) {
        path.add(part.matches("\\d+") ? (Object) Integer.valueOf(part) : part);
      }
    }
    return line(path);
  }

  /**
   * YAML lets an alias refer to a node that contains it; JSON (and Jackson, which would recurse
   * until the stack overflows) cannot hold that, so it is a problem at the alias.
   */
  private static void checkNotRecursive(Node node, Set<Node> ancestors) throws SyntaxError {
    if (!ancestors.add(node)) {
      throw new SyntaxError(lineOf(node), "an alias refers to a node that contains it; pipeline"
          + " settings cannot be recursive");
    }
    if (node instanceof MappingNode mapping) {
      for (NodeTuple tuple : mapping.getValue()) {
        checkNotRecursive(tuple.getKeyNode(), ancestors);
        checkNotRecursive(tuple.getValueNode(), ancestors);
      }
    } else if (node instanceof SequenceNode sequence) {
      for (Node item : sequence.getValue()) {
        checkNotRecursive(item, ancestors);
      }
    }
    ancestors.remove(node);
  }

  private static int lineOf(Node node) {
    return node.getStartMark() == null ? 1 : node.getStartMark().getLine() + 1;
  }

  /** Exposes SnakeYAML's safe construction of one composed node. */
  private static final class ValueConstructor extends SafeConstructor {
    ValueConstructor(LoaderOptions options) {
      super(options);
    }

    Object construct(Node node) {
      return constructDocument(node);
    }
  }
}
