/** Implementation of the client; nothing here is promised to users. */
package io.sluice.client.internal;
