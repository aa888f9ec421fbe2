import { bootstrapWorker } from '@cityflow/common';
import { ReporterModule } from './reporter.module';

void bootstrapWorker('reporter', (config) => ReporterModule.forRoot(config));
