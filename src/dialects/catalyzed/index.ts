import type { Dialect } from '../../server/dialect.ts';
import { renderCatalyzedError } from './errors.ts';
import { datasetRoutes } from './routes/datasets.ts';
import { queryRoutes } from './routes/queries.ts';
import { rowRoutes } from './routes/rows.ts';
import { tableRoutes } from './routes/tables.ts';

/** Catalyzed's datasets, dataset tables, row writes and queries over the core. */
export const catalyzed: Dialect = {
  name: 'catalyzed',
  allowQueryToken: false,
  prefixes: ['/datasets', '/dataset-tables', '/queries'],
  renderError: renderCatalyzedError,
  routes(app, core) {
    datasetRoutes(app, core);
    tableRoutes(app, core);
    rowRoutes(app, core);
    queryRoutes(app, core);
  },
};
