// The debug console's page is plain HTML/CSS/JS: the build copies it beside the compiled routes.
import { cpSync } from 'node:fs';

cpSync(new URL('../src/console/static/', import.meta.url), new URL('../dist/src/console/static/', import.meta.url), { recursive: true });
