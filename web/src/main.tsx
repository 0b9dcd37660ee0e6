import { render } from "preact";
import { App } from "./App";
import { setUpI18n } from "./i18n";
import "./styles.css";

await setUpI18n();
render(<App />, document.getElementById("app")!);
