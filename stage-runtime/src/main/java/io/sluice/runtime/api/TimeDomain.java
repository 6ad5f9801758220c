package io.sluice.runtime.api;

/** Which clock a timer follows. */
public enum TimeDomain {
  /**
   * Event time: the timer fires when the operator's watermark reaches its timestamp, i.e. once no
   * more events with a timestamp at or before it are expected.
   */
  EVENT_TIME,
  /** Processing time: the timer fires when the runtime's wall clock reaches its timestamp. */
  PROCESSING_TIME
}
