/** A select's options by name: those given, and the one chosen even when it is no longer among
 * them (a file deleted, a queue removed), so the select never silently shows another. */
export function Choices({ names, chosen }: { names: string[]; chosen: string }) {
  return (
    <>
      {[...new Set([...names, ...(chosen ? [chosen] : [])])].map((name) => (
        <option key={name} value={name}>
          {name}
        </option>
      ))}
    </>
  );
}
