package io.sluice.runtime.api;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;

/** The built-in serdes. All are stateless and thread-safe. */
public final class Serdes {
  private static final ObjectMapper MAPPER = new ObjectMapper();

  private Serdes() {}

  /** Raw bytes, unchanged. */
  public static Serde<byte[]> bytes() {
    return BYTES;
  }

  /** UTF-8 text. */
  public static Serde<String> string() {
    return STRING;
  }

  /** A JSON document as a Jackson tree; decoding fails on malformed JSON. */
  public static Serde<JsonNode> json() {
    return JSON;
  }

  /** A JSON document bound to a class with Jackson. */
  public static <T> Serde<T> json(Class<T> type) {
    return new Serde<>() {
      @Override
      public byte[] serialize(T value) {
        try {
          return MAPPER.writeValueAsBytes(value);
        } catch (JsonProcessingException e) {
          throw new SerdeException("cannot encode " + type.getSimpleName() + " as JSON: " + e.getOriginalMessage(), e);
        }
      }

      @Override
      public T deserialize(byte[] bytes) {
        try {
          return MAPPER.readValue(bytes, type);
        } catch (IOException e) {
          throw new SerdeException("malformed JSON payload: " + describe(e), e);
        }
      }

      @Override
      public String contentType() {
        return "application/json";
      }
    };
  }

  /**
   * Java serialization, for checkpointed values that are {@link java.io.Serializable}: convenient,
   * but tied to the class's shape. Encoding a value that is not serializable fails with its class
   * name.
   */
  @SuppressWarnings("unchecked")
  public static <T> Serde<T> javaSerialization() {
    return (Serde<T>) JAVA;
  }

  private static final Serde<Object> JAVA =
      new Serde<>() {
        @Override
        public byte[] serialize(Object value) {
          java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
          try (java.io.ObjectOutputStream out = new java.io.ObjectOutputStream(bytes)) {
            out.writeObject(value);
          } catch (java.io.NotSerializableException e) {
            throw new SerdeException("cannot checkpoint a " + e.getMessage() + ": it is not Serializable;"
                + " implement java.io.Serializable or give the state its own Serde", e);
          } catch (IOException e) {
            throw new SerdeException("cannot serialize " + value.getClass().getName() + ": " + e.getMessage(), e);
          }
          return bytes.toByteArray();
        }

        @Override
        public Object deserialize(byte[] bytes) {
          try (java.io.ObjectInputStream in = new java.io.ObjectInputStream(new java.io.ByteArrayInputStream(bytes))) {
            return in.readObject();
          } catch (IOException | ClassNotFoundException e) {
            throw new SerdeException("cannot read Java-serialized state: " + e, e);
          }
        }
      };

  private static final Serde<byte[]> BYTES =
      new Serde<>() {
        @Override
        public byte[] serialize(byte[] value) {
          return value == null ? new byte[0] : value;
        }

        @Override
        public byte[] deserialize(byte[] bytes) {
          return bytes;
        }
      };

  private static final Serde<String> STRING =
      new Serde<>() {
        @Override
        public byte[] serialize(String value) {
          return value == null ? new byte[0] : value.getBytes(StandardCharsets.UTF_8);
        }

        @Override
        public String deserialize(byte[] bytes) {
          return new String(bytes, StandardCharsets.UTF_8);
        }

        @Override
        public String deserialize(byte[] buffer, int offset, int length) {
          return new String(buffer, offset, length, StandardCharsets.UTF_8);
        }

        @Override
        public String contentType() {
          return "text/plain";
        }
      };

  private static final Serde<JsonNode> JSON =
      new Serde<>() {
        @Override
        public byte[] serialize(JsonNode value) {
          try {
            return value == null ? new byte[0] : MAPPER.writeValueAsBytes(value);
          } catch (JsonProcessingException e) {
            throw new SerdeException("cannot encode JSON: " + e.getOriginalMessage(), e);
          }
        }

        @Override
        public JsonNode deserialize(byte[] bytes) {
          return deserialize(bytes, 0, bytes.length);
        }

        @Override
        public JsonNode deserialize(byte[] buffer, int offset, int length) {
          if (length == 0) {
            throw new SerdeException("malformed JSON payload: the payload is empty");
          }
          try {
            JsonNode node = MAPPER.readTree(buffer, offset, length);
            if (node == null || node.isMissingNode()) {
              throw new SerdeException("malformed JSON payload: no JSON value");
            }
            return node;
          } catch (IOException e) {
            throw new SerdeException("malformed JSON payload: " + describe(e), e);
          }
        }

        @Override
        public String contentType() {
          return "application/json";
        }
      };

  private static String describe(IOException e) {
    if (e instanceof JsonProcessingException jpe) {
      var loc = jpe.getLocation();
      String where = loc == null ? "" : " at line " + loc.getLineNr() + ", column " + loc.getColumnNr();
      return jpe.getOriginalMessage() + where;
    }
    return e.getMessage();
  }
}
