// The widget's styles, inside its shadow root: the host page's CSS cannot reach in, and ours
// cannot leak out.
export const STYLES = `
:host { all: initial; }
* { box-sizing: border-box; font-family: system-ui, -apple-system, "Segoe UI", sans-serif; }
.launcher { position: fixed; right: 20px; bottom: 20px; z-index: 2147483000; border: 0;
  border-radius: 28px; padding: 14px 20px; font-size: 15px; cursor: pointer;
  background: var(--odw-colour); color: var(--odw-text); box-shadow: 0 4px 16px rgba(0,0,0,.25); }
.panel { position: fixed; right: 20px; bottom: 84px; z-index: 2147483000; width: 360px;
  max-width: calc(100vw - 40px); height: 520px; max-height: calc(100vh - 110px);
  display: flex; flex-direction: column; background: #fff; color: #1b1f24; border-radius: 12px;
  box-shadow: 0 8px 32px rgba(0,0,0,.3); overflow: hidden; font-size: 14px; }
header { background: var(--odw-colour); color: var(--odw-text); padding: 12px 16px;
  display: flex; justify-content: space-between; align-items: center; }
header h2 { margin: 0; font-size: 16px; }
header button { background: transparent; color: inherit; border: 0; font-size: 20px; cursor: pointer; }
.body { flex: 1; overflow-y: auto; padding: 12px 16px; }
.greeting { color: #4a525c; margin: 0 0 12px; }
.log { list-style: none; margin: 0; padding: 0; display: flex; flex-direction: column; gap: 8px; }
.msg { max-width: 85%; padding: 8px 12px; border-radius: 12px; white-space: pre-wrap;
  overflow-wrap: anywhere; }
.msg.visitor { align-self: flex-end; background: var(--odw-colour); color: var(--odw-text); }
.msg.agent { align-self: flex-start; background: #eef1f4; }
.msg.form { background: #fff8e1; color: #3d3300; border: 1px solid #f0d98a; }
.survey-link { display: block; margin-top: 6px; font-weight: 600; color: inherit; }
form.survey { margin-top: 8px; }
form.survey fieldset { border: 0; margin: 0; padding: 0; }
form.survey legend { font-size: 13px; margin-bottom: 4px; }
form.survey .scale { display: flex; flex-wrap: wrap; gap: 4px; }
form.survey .scale label { flex-direction: column; align-items: center; min-width: 22px; }
.msg .meta { display: block; font-size: 11px; opacity: .8; margin-top: 2px; }
.msg button.file { background: none; border: 0; padding: 0; color: inherit; text-decoration: underline; cursor: pointer; }
.status { color: #4a525c; font-size: 12px; margin: 8px 0 0; }
.link { background: none; border: 0; padding: 0; color: var(--odw-colour); text-decoration: underline; cursor: pointer; font: inherit; font-size: 12px; }
.transcript-mail { margin: 8px 0 0; font-size: 12px; }
form.fields { display: flex; flex-direction: column; gap: 8px; }
form.fields label { display: flex; flex-direction: column; gap: 4px; font-size: 13px; }
input, textarea, select { font-size: 14px; padding: 8px; border: 1px solid #aab2bb; border-radius: 6px; }
.composer { display: flex; gap: 6px; padding: 8px; border-top: 1px solid #dde2e7; align-items: center; }
.composer input[type=text] { flex: 1; }
.primary { background: var(--odw-colour); color: var(--odw-text); border: 0; border-radius: 6px;
  padding: 8px 12px; font-size: 14px; cursor: pointer; }
.attach { position: relative; overflow: hidden; display: inline-flex; color: #4a525c; border: 1px solid #aab2bb; border-radius: 6px;
  padding: 6px 9px; cursor: pointer; }
.attach input { position: absolute; inset: 0; opacity: 0; cursor: pointer; }
.error { color: #a40e26; font-size: 13px; }
.sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
`;
