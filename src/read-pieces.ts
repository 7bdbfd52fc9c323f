import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';

/** Size of the one reused buffer a whole-file pass reads into. */
const PIECE_BYTES = 4 * 1024 * 1024;

/**
 * Reads a whole file in order through one reused buffer, handing each piece to `consume`, which must be
 * done with it when it returns (a hash update is). A fresh buffer per read, as `createReadStream` gives,
 * leaves garbage the GC finds late: tens of MB of peak RSS over a multi-GiB image.
 */
export async function readPieces(
  path: string,
  consume: (piece: Buffer) => void,
  signal?: AbortSignal,
): Promise<void> {
  const file = await open(path, 'r');
  try {
    const buffer = Buffer.allocUnsafeSlow(PIECE_BYTES);
    for (let position = 0; ; ) {
      signal?.throwIfAborted();
      const { bytesRead } = await file.read(buffer, 0, PIECE_BYTES, position);
      if (bytesRead === 0) return;
      consume(buffer.subarray(0, bytesRead));
      position += bytesRead;
    }
  } finally {
    await file.close();
  }
}

/** The SHA-256 of a whole file, as hex. */
export async function fileSha256(path: string, signal?: AbortSignal): Promise<string> {
  const hash = createHash('sha256');
  await readPieces(path, (piece) => hash.update(piece), signal);
  return hash.digest('hex');
}
