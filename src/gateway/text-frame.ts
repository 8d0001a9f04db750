/**
 * WebSocket text frames built once and written as is to many sockets. `ws` frames every
 * send on its own (options objects, a header buffer, cork, two writes); a broadcast to
 * thousands of sockets pays that per socket. Here the header and payload are joined
 * into one Buffer once, and each socket gets one write of the same bytes.
 */

/** A final, unmasked (server-to-client) text frame holding `payload` (RFC 6455 §5.2). */
export function encodeTextFrame(payload: Buffer): Buffer {
  const length = payload.length;
  const headerLength = length < 126 ? 2 : length < 65_536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(headerLength + length);
  frame[0] = 0x81; // FIN + opcode 1 (text)
  if (length < 126) {
    frame[1] = length;
  } else if (length < 65_536) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeUInt32BE(Math.floor(length / 2 ** 32), 2);
    frame.writeUInt32BE(length >>> 0, 6);
  }
  payload.copy(frame, headerLength);
  return frame;
}

let lastPayload: Buffer | undefined;
let lastFrame: Buffer | undefined;

/**
 * The frame of `payload`, built on the first call for that Buffer instance. Fanout
 * hands one payload to every subscriber in turn, so remembering the last one is enough
 * for all but the first socket to reuse its frame.
 */
export function textFrameOf(payload: Buffer): Buffer {
  if (payload !== lastPayload || lastFrame === undefined) {
    lastFrame = encodeTextFrame(payload);
    lastPayload = payload;
  }
  return lastFrame;
}
