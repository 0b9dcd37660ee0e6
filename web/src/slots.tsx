// Where the parts other domains bring plug into the desk: the CRM's customer card and panel,
// the channels' conversation. A part registers a component under a
// slot's name; a slot with nothing registered shows nothing (no stand-in, no sample data).
import type { FunctionComponent } from "preact";

export type SlotName =
  | "offer.customer" // the customer card in an incoming offer (CRM)
  | "contact.conversation" // the conversation of a chat, message or email contact (channels)
  | "contact.customer"; // the customer panel beside a contact (CRM)

export interface SlotProps {
  contactId: string;
  channel?: string | null;
}

const registry = new Map<SlotName, FunctionComponent<SlotProps>[]>();

export function provide(name: SlotName, component: FunctionComponent<SlotProps>): void {
  registry.set(name, [...(registry.get(name) ?? []), component]);
}

export function filled(name: SlotName): boolean {
  return (registry.get(name) ?? []).length > 0;
}

export function Slot({ name, ...props }: SlotProps & { name: SlotName }) {
  const parts = registry.get(name) ?? [];
  if (!parts.length) return null;
  return (
    <div class={`slot slot-${name.replace(".", "-")}`}>
      {parts.map((Part, i) => (
        <Part key={i} {...props} />
      ))}
    </div>
  );
}
