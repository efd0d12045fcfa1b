// What a recording's file name says (the gateway's recorder names files
// `<UTC time>-<sim>-<family>-ep<episode>[-<n>].mcap`, bridge/recorder.ts), for short labels in the
// sidebar and the HUD; the full name stays in the tooltip. No DOM: unit-testable in Node.

export interface RecordingName {
  /** `2026-11-22 06:15:01` (UTC). */
  time: string;
  sim: string;
  family: string;
  episode: number;
}

const PATTERN = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(?:\.\d+)?Z-([^-]+)-(.+)-ep(\d+)(?:-\d+)?\.mcap(?:\.part)?$/;

/** The parts of one of the gateway's recording names, or null for any other file name. */
export function parseRecordingName(name: string): RecordingName | null {
  const match = PATTERN.exec(name);
  if (!match) return null;
  const [, year, month, day, hour, minute, second, sim, family, episode] = match;
  return { time: `${year}-${month}-${day} ${hour}:${minute}:${second}`, sim, family, episode: Number(episode) };
}
