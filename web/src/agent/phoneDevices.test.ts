import { describe, expect, it } from "vitest";
import { devicesOf, level, loadChoice, micProblem, saveChoice, selected } from "./phoneDevices";

/** localStorage's surface over a Map. */
function store(seed: Record<string, string> = {}) {
  const m = new Map(Object.entries(seed));
  return {
    map: m,
    getItem: (k: string) => m.get(k) ?? null,
    setItem: (k: string, v: string) => void m.set(k, v),
    removeItem: (k: string) => void m.delete(k),
  };
}

const devices = [
  { deviceId: "default", kind: "audioinput", label: "Default - Headset" },
  { deviceId: "mic-a", kind: "audioinput", label: "Headset" },
  { deviceId: "mic-b", kind: "audioinput", label: "" },
  { deviceId: "spk-a", kind: "audiooutput", label: "Speakers" },
  { deviceId: "cam", kind: "videoinput", label: "Camera" },
];

describe("the remembered device choice", () => {
  it("starts with the defaults, keeps each kind apart, and forgets the default itself", () => {
    const s = store();
    expect(loadChoice(s)).toEqual({ mic: null, speaker: null });
    saveChoice("mic", "mic-a", s);
    saveChoice("speaker", "spk-a", s);
    expect(loadChoice(s)).toEqual({ mic: "mic-a", speaker: "spk-a" });
    saveChoice("mic", "default", s);
    expect(loadChoice(s)).toEqual({ mic: null, speaker: "spk-a" });
    saveChoice("speaker", null, s);
    expect(s.map.size).toBe(0); // nothing chosen: nothing kept
  });

  it("ignores what it cannot read", () => {
    expect(loadChoice(store({ "omnidesk.phone.devices": "{not json" }))).toEqual({ mic: null, speaker: null });
    expect(loadChoice(store({ "omnidesk.phone.devices": '{"mic": 7, "speaker": ""}' }))).toEqual({ mic: null, speaker: null });
    expect(loadChoice(null)).toEqual({ mic: null, speaker: null });
  });

  it("selects the remembered device while it is plugged in, else the default", () => {
    expect(selected(devices, "mic", "mic-b")).toBe("mic-b");
    expect(selected(devices, "mic", "unplugged")).toBe("default");
    expect(selected(devices, "speaker", null)).toBe("spk-a"); // no "default" listed: the first
    expect(selected([], "speaker", "spk-a")).toBe("");
  });

  it("lists one kind, naming devices the browser does not name yet", () => {
    // Like MediaDeviceInfo: the fields are getters on the prototype, not own properties.
    class Info {
      get deviceId() {
        return "mic-x";
      }
      get kind() {
        return "audioinput";
      }
      get label() {
        return "Headset X";
      }
    }
    expect(devicesOf([new Info()], "mic")).toEqual([{ deviceId: "mic-x", kind: "audioinput", label: "Headset X" }]);
    expect(devicesOf(devices, "mic").map((d) => d.label)).toEqual(["Default - Headset", "Headset", "Microphone 3"]);
    expect(devicesOf(devices, "speaker").map((d) => d.deviceId)).toEqual(["spk-a"]);
  });
});

describe("the level meter", () => {
  const sine = (amp: number, n = 2048) => Array.from({ length: n }, (_, i) => amp * Math.sin((2 * Math.PI * i) / 48));

  it("maps RMS dBFS from -60 (0) to 0 (100)", () => {
    expect(level([])).toBe(0);
    expect(level(new Float32Array(2048))).toBe(0);
    expect(level(Array(100).fill(1))).toBe(100); // 0 dBFS
    expect(level(Array(100).fill(0.001))).toBe(0); // -60 dBFS
    expect(level(Array(100).fill(0.01))).toBe(33); // -40 dBFS
    // A 0.3 sine (the test's fake microphone): RMS 0.212, -13.5 dBFS.
    expect(level(sine(0.3))).toBe(78);
  });

  it("moves with the signal and clips at the top", () => {
    expect(level(sine(0.01))).toBeLessThan(level(sine(0.1)));
    expect(level(Array(10).fill(3))).toBe(100);
  });
});

describe("a refused microphone", () => {
  it("says which problem it is", () => {
    expect(micProblem(new DOMException("x", "NotAllowedError"))).toBe("denied");
    expect(micProblem(new DOMException("x", "NotFoundError"))).toBe("missing");
    expect(micProblem(new DOMException("x", "NotReadableError"))).toBe("busy");
    expect(micProblem(new Error("boom"))).toBe("other");
    expect(micProblem("weird")).toBe("other");
  });
});
