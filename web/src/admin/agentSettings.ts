// An agent's blending and working hours as the Agents form edits them and as the API takes them
// (pure: tested in vitest). Like the queue form, the form never judges a value: what it cannot
// read it sends as typed, and the API's refusal is shown on the field it names.
import { intervalsOf, intervalsText, WEEKDAYS, type Weekday } from "./queueSettings";

/** Per held channel, the other channels that may still be offered meanwhile. */
export type BlendingDraft = Record<string, string[]>;

/** The form's blending: a held channel the API's matrix does not list blocks nothing, so every
 * other channel is allowed beside it (all its boxes ticked). */
export function blendingDraft(blending: Record<string, string[]> | undefined, channels: string[]): BlendingDraft {
  const draft: BlendingDraft = {};
  for (const held of channels) {
    const others = channels.filter((c) => c !== held);
    const listed = blending?.[held];
    draft[held] = listed === undefined ? others : others.filter((c) => listed.includes(c));
  }
  return draft;
}

/** The API's blending: a held channel beside which everything is allowed is left out (it
 * blocks nothing, as the engine reads an unlisted channel); the others list what they allow. */
export function blendingJson(draft: BlendingDraft, channels: string[]): Record<string, string[]> {
  const blending: Record<string, string[]> = {};
  for (const held of channels) {
    const others = channels.filter((c) => c !== held);
    const allowed = others.filter((c) => (draft[held] ?? others).includes(c));
    if (allowed.length < others.length) blending[held] = allowed;
  }
  return blending;
}

export type WorkingHoursDraft = Record<Weekday, string>;

/** Per weekday "08:00-12:00, 13:00-18:00" (the queue form's text form); empty: not working. */
export function workingHoursDraft(hours: Record<string, string[][]> | undefined): WorkingHoursDraft {
  return Object.fromEntries(WEEKDAYS.map((d) => [d, intervalsText(hours?.[d])])) as WorkingHoursDraft;
}

/** The API's working hours; days without hours are left out. */
export function workingHoursJson(draft: WorkingHoursDraft): Record<string, string[][]> {
  const weekly: Record<string, string[][]> = {};
  for (const day of WEEKDAYS) {
    const intervals = intervalsOf(draft[day]);
    if (intervals.length) weekly[day] = intervals;
  }
  return weekly;
}
