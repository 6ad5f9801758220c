package io.sluice.stages.window;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sluice.runtime.api.SerdeException;
import java.io.DataInput;
import java.io.DataOutput;
import java.io.IOException;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * A binary form of JSON trees for checkpointed accumulators that keeps each number's Jackson type
 * (int, long, big integer, float, double, decimal): JSON text would not, and min/max must give
 * back a value as it was written, distinct must find a restored value equal to a new one. The
 * Smile format would do the same; it is not a dependency here, and these are a dozen tags.
 *
 * <p>Stateless and thread-safe.
 */
final class JsonValueCodec {
  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

  private static final int NULL = 0;
  private static final int FALSE = 1;
  private static final int TRUE = 2;
  private static final int SHORT = 3;
  private static final int INT = 4;
  private static final int LONG = 5;
  private static final int BIG_INTEGER = 6;
  private static final int FLOAT = 7;
  private static final int DOUBLE = 8;
  private static final int DECIMAL = 9;
  private static final int TEXT = 10;
  private static final int BINARY = 11;
  private static final int ARRAY = 12;
  private static final int OBJECT = 13;

  private JsonValueCodec() {}

  /**
   * Writes one value.
   *
   * @throws SerdeException for a node that is no JSON value (a POJO or missing node)
   */
  static void write(DataOutput out, JsonNode v) throws IOException {
    switch (v.getNodeType()) {
      case NULL -> out.writeByte(NULL);
      case BOOLEAN -> out.writeByte(v.booleanValue() ? TRUE : FALSE);
      case NUMBER -> writeNumber(out, v);
      case STRING -> {
        out.writeByte(TEXT);
        writeBytes(out, v.textValue().getBytes(StandardCharsets.UTF_8));
      }
      case BINARY -> {
        out.writeByte(BINARY);
        writeBytes(out, v.binaryValue());
      }
      case ARRAY -> {
        out.writeByte(ARRAY);
        out.writeInt(v.size());
        for (JsonNode element : v) {
          write(out, element);
        }
      }
      case OBJECT -> {
        out.writeByte(OBJECT);
        out.writeInt(v.size());
        for (Map.Entry<String, JsonNode> e : v.properties()) {
          writeBytes(out, e.getKey().getBytes(StandardCharsets.UTF_8));
          write(out, e.getValue());
        }
      }
      default -> throw new SerdeException("cannot checkpoint a JSON node of type " + v.getNodeType());
    }
  }

  private static void writeNumber(DataOutput out, JsonNode v) throws IOException {
    switch (v.numberType()) {
      case INT -> {
        if (v.isShort()) {
          out.writeByte(SHORT);
          out.writeShort(v.shortValue());
        } else {
          out.writeByte(INT);
          out.writeInt(v.intValue());
        }
      }
      case LONG -> {
        out.writeByte(LONG);
        out.writeLong(v.longValue());
      }
      case BIG_INTEGER -> {
        out.writeByte(BIG_INTEGER);
        writeBytes(out, v.bigIntegerValue().toByteArray());
      }
      case FLOAT -> {
        out.writeByte(FLOAT);
        out.writeFloat(v.floatValue());
      }
      case DOUBLE -> {
        out.writeByte(DOUBLE);
        out.writeDouble(v.doubleValue());
      }
      case BIG_DECIMAL -> {
        BigDecimal d = v.decimalValue();
        out.writeByte(DECIMAL);
        out.writeInt(d.scale());
        writeBytes(out, d.unscaledValue().toByteArray());
      }
    }
  }

  /** Reads one value written by {@link #write}. */
  static JsonNode read(DataInput in) throws IOException {
    int tag = in.readUnsignedByte();
    return switch (tag) {
      case NULL -> NODES.nullNode();
      case FALSE -> NODES.booleanNode(false);
      case TRUE -> NODES.booleanNode(true);
      case SHORT -> NODES.numberNode(in.readShort());
      case INT -> NODES.numberNode(in.readInt());
      case LONG -> NODES.numberNode(in.readLong());
      case BIG_INTEGER -> NODES.numberNode(new BigInteger(readBytes(in)));
      case FLOAT -> NODES.numberNode(in.readFloat());
      case DOUBLE -> NODES.numberNode(in.readDouble());
      case DECIMAL -> {
        int scale = in.readInt();
        yield NODES.numberNode(new BigDecimal(new BigInteger(readBytes(in)), scale));
      }
      case TEXT -> NODES.textNode(new String(readBytes(in), StandardCharsets.UTF_8));
      case BINARY -> NODES.binaryNode(readBytes(in));
      case ARRAY -> {
        int n = readCount(in);
        ArrayNode array = NODES.arrayNode(n);
        for (int i = 0; i < n; i++) {
          array.add(read(in));
        }
        yield array;
      }
      case OBJECT -> {
        int n = readCount(in);
        ObjectNode object = NODES.objectNode();
        for (int i = 0; i < n; i++) {
          String name = new String(readBytes(in), StandardCharsets.UTF_8);
          object.set(name, read(in));
        }
        yield object;
      }
      default -> throw new SerdeException("checkpointed JSON value has unknown tag " + tag);
    };
  }

  private static void writeBytes(DataOutput out, byte[] bytes) throws IOException {
    out.writeInt(bytes.length);
    out.write(bytes);
  }

  private static byte[] readBytes(DataInput in) throws IOException {
    byte[] bytes = new byte[readCount(in)];
    in.readFully(bytes);
    return bytes;
  }

  /** A length or count, checked so that a corrupt one fails here rather than as an allocation. */
  static int readCount(DataInput in) throws IOException {
    int n = in.readInt();
    if (n < 0) {
      throw new SerdeException("checkpointed state holds a negative length " + n + "; it is corrupt");
    }
    return n;
  }
}
