/** `herald send` needs the notification pipeline; until it exists, say so plainly. */
export async function runSend(_args: string[]): Promise<number> {
  console.error('herald send: not available yet: the notification queue is not part of this build');
  return 1;
}
