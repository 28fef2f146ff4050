/**
 * The function a DataPlane request names, read from its bytes without
 * decoding the message: InvokeRequest keeps it in field 1 (a string), and
 * the router needs nothing else of it. A version or alias qualifier
 * ("echo:3", "echo:prod") is dropped, so every version of a function shares
 * its node. Undefined when the field is absent or the bytes are not a
 * message (the node answers that with INVALID_ARGUMENT).
 */
export function functionNameOf(message: Buffer): string | undefined {
  let at = 0;
  while (at < message.length) {
    const [tag, afterTag] = varint(message, at);
    if (afterTag < 0) return undefined;
    const field = tag >>> 3;
    const wireType = tag & 7;
    at = afterTag;
    switch (wireType) {
      case 0: {
        const [, next] = varint(message, at);
        if (next < 0) return undefined;
        at = next;
        break;
      }
      case 1:
        at += 8;
        break;
      case 2: {
        const [length, start] = varint(message, at);
        if (start < 0 || start + length > message.length) return undefined;
        if (field === 1) {
          const name = message.toString('utf8', start, start + length);
          const colon = name.indexOf(':');
          return colon < 0 ? name : name.slice(0, colon);
        }
        at = start + length;
        break;
      }
      case 5:
        at += 4;
        break;
      default:
        return undefined;
    }
  }
  return undefined;
}

/** A base-128 varint at `at`: its value (up to 2^32) and where the next field starts, or -1 when cut short. */
function varint(bytes: Buffer, at: number): [number, number] {
  let value = 0;
  for (let shift = 0; shift < 35; shift += 7) {
    if (at >= bytes.length) return [0, -1];
    const byte = bytes[at++]!;
    value += (byte & 0x7f) * 2 ** shift;
    if ((byte & 0x80) === 0) return [value, at];
  }
  // Longer varints (negative int64s) are skipped to their end.
  while (at < bytes.length) if ((bytes[at++]! & 0x80) === 0) return [value, at];
  return [0, -1];
}
