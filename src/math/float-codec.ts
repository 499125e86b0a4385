/**
 * Exact, compact text encoding of float arrays for checkpoints: the raw
 * little-endian bytes in base64 (JSON numbers would bloat weights 3× and
 * round-trip float32 only by luck).
 */
export function encodeFloat32(values: Float32Array): string {
  return Buffer.from(values.buffer, values.byteOffset, values.byteLength).toString('base64');
}

export function decodeFloat32(text: string): Float32Array {
  const bytes = Buffer.from(text, 'base64');
  if (bytes.byteLength % 4 !== 0) throw new RangeError('float32 payload length is not a multiple of 4');
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return new Float32Array(copy.buffer);
}
