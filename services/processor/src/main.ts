import { bootstrapWorker } from '@cityflow/common';
import { ProcessorModule } from './processor.module';

void bootstrapWorker('processor', (config) => ProcessorModule.forRoot(config));
