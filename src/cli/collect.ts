/** Commander helper: collects a repeatable option (`--set a=1 --set b=2`) into a list. */
export const collect = (value: string, previous: string[] = []): string[] => [...previous, value]
