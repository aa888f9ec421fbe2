/** Small helpers shared by the domain tests. */
import { InputFormatError, type FileRef, type SourceName } from '../src/shared/model';

/** A FileRef for a test input: version from the size, key from the path (as discovery would make unique). */
export function testFileRef(source: SourceName, relPath: string, size: number): FileRef {
  return { source, relPath, size, version: `${size}-0`, fileKey: relPath.replace(/[^A-Za-z0-9]/g, '_') };
}

/** Run `fn`, expect an InputFormatError and return it (any other outcome fails the test). */
export function formatError(fn: () => unknown): InputFormatError {
  try {
    fn();
  } catch (e) {
    if (e instanceof InputFormatError) return e;
    throw e;
  }
  throw new Error('expected an InputFormatError');
}
