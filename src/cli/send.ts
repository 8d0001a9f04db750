const sendUsage = `Usage: herald send --app ID --token HEX [--title T --body B | --payload JSON] [--channel C --event E --data JSON]

Enqueues one notification through the HTTP API and prints its id and final status.`;

/** `herald send` needs the notification pipeline; until it exists, say so plainly. */
export async function runSend(args: string[]): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    console.log(sendUsage);
    return 0;
  }
  console.error('herald send: not available yet: the notification queue is not part of this build');
  return 1;
}
