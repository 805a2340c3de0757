/**
 * Why a file could not be read, in words a user can act on (`EISDIR` alone says little).
 * @example readErrorText(err) // "it is a directory, not a file"
 */
export const readErrorText = (e: unknown): string => {
  const code = (e as NodeJS.ErrnoException).code
  switch (code) {
    case "ENOENT":
      return "no such file"
    case "EISDIR":
      return "it is a directory, not a file"
    case "EACCES":
    case "EPERM":
      return "permission denied"
    case "ENOTDIR":
      return "a part of the path is not a directory"
    default:
      return code ?? (e as Error).message.split("\n")[0] ?? String(e)
  }
}
