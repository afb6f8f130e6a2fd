/**
 * The API reports (`etc/agents-sdk*.api.md`): one for the root export and one per subpath of
 * package.json "exports", made by API Extractor from the built declarations (`npm run build`
 * first). `npm run api:check` fails when the public surface changed and its report was not
 * updated; `npm run api:update` rewrites the reports, to commit with the change.
 */
import { Extractor, ExtractorConfig } from '@microsoft/api-extractor';
import { readFileSync } from 'node:fs';

const local = process.argv.includes('--local');
const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const configs = Object.keys(pkg.exports)
  .filter((key) => key !== './package.json')
  .map((key) => (key === '.' ? 'api-extractor.json' : `etc/api-extractor/${key.slice(2)}.json`));

let failed = 0;
for (const file of configs) {
  const config = ExtractorConfig.loadFileAndPrepare(file);
  const result = Extractor.invoke(config, { localBuild: local, showVerboseMessages: false });
  if (result.succeeded) continue;
  failed++;
  const report = config.reportConfigs[0]?.fileName ?? file;
  console.error(
    result.apiReportChanged
      ? `${report}: the public API changed; run \`npm run build && npm run api:update\` and commit etc/.`
      : `${file}: API Extractor failed (${result.errorCount} errors, ${result.warningCount} warnings).`,
  );
}
if (failed > 0) process.exit(1);
