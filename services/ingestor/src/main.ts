import { bootstrapWorker } from '@cityflow/common';
import { IngestorModule } from './ingestor.module';

void bootstrapWorker('ingestor', (config) => IngestorModule.forRoot(config));
