package io.sluice.runtime.internal.metrics;

import java.io.IOException;
import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The memory of this process: heap in use, direct (off-heap) memory in use, resident set size.
 *
 * <p>Direct memory counts both the JVM's direct buffer pool (where Netty's pooled allocator puts
 * its chunks on JDK 9+ unless reflection is opened) and Netty's own cleaner-less counter, so unsent
 * gRPC data is seen wherever it sits. Thread-safe.
 */
public final class ProcessMemory {
  private ProcessMemory() {}

  public static long heapUsed() {
    Runtime rt = Runtime.getRuntime();
    return rt.totalMemory() - rt.freeMemory();
  }

  public static long directUsed() {
    long total = 0;
    for (BufferPoolMXBean pool : ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class)) {
      if (pool.getName().equals("direct")) {
        total += pool.getMemoryUsed();
      }
    }
    long netty = io.netty.util.internal.PlatformDependent.usedDirectMemory();
    return total + Math.max(0, netty);
  }

  /** Resident set size from /proc (Linux); 0 where unknown. */
  public static long rss() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
        if (line.startsWith("VmRSS:")) {
          String kb = line.substring(6).trim().split("\\s+")[0];
          return Long.parseLong(kb) * 1024;
        }
      }
    } catch (IOException | RuntimeException e) {
      return 0;
    }
    return 0;
  }
}
