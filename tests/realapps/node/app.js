// Express as people ship it. APP_MODE=dev: `node app.js` with the defaults (X-Powered-By,
// the default error handler with stacks outside production); APP_MODE=prod: NODE_ENV=production
// and x-powered-by off; APP_MODE=ratelimit: express-rate-limit with the IETF draft-8 RateLimit
// headers and the legacy X-RateLimit ones.
const express = require('express');
const { rateLimit } = require('express-rate-limit');

const app = express();
const mode = process.env.APP_MODE || 'dev';
if (mode !== 'dev') app.disable('x-powered-by');
if (mode === 'ratelimit') {
  app.use(rateLimit({ windowMs: 60_000, limit: 30, standardHeaders: 'draft-8', legacyHeaders: true }));
}
app.use(express.json());
app.get('/', (req, res) => {
  const limit = Number.parseInt(req.query.limit ?? '10', 10);
  if (Number.isNaN(limit)) throw new TypeError(`limit is not a number: ${req.query.limit}`);
  res.json({ items: [], limit });
});
app.post('/', (req, res) => res.json(req.body));
app.listen(Number(process.env.PORT), '127.0.0.1');
