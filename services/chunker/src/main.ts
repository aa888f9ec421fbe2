import { bootstrapWorker } from '@cityflow/common';
import { ChunkerModule } from './chunker.module';

void bootstrapWorker('chunker', (config) => ChunkerModule.forRoot(config));
