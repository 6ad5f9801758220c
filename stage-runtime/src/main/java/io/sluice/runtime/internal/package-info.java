/**
 * The runtime's internals: nothing here is promised to users.
 *
 * <ul>
 *   <li>{@code exchange}: the data plane's gRPC streams (inbound and outbound) and their flow
 *       control.
 *   <li>{@code task}: the subtask: one mailbox thread that runs the operator.
 *   <li>{@code routing}: routes from the coordinator turned into partitioners and batching
 *       output channels.
 *   <li>{@code codec}: wire events to records and back.
 *   <li>{@code control}: the control stream to the coordinator.
 *   <li>{@code source}, {@code sink}: the ingest and egress stages, which face clients.
 *   <li>{@code metrics}: counters the subtask keeps and reports.
 * </ul>
 */
package io.sluice.runtime.internal;
