#!/usr/bin/env node
/**
 * Part of `npm run build`: copies the inspector's page (HTML, script, style: plain files that
 * tsc does not emit) from src/inspector/page/ to dist/inspector/page/, where the server reads them.
 */
import { cpSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
cpSync(join(root, 'src/inspector/page'), join(root, 'dist/inspector/page'), { recursive: true });
