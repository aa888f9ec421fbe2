import { DynamicModule, Module } from '@nestjs/common';
import { QueueName } from '@cityflow/contracts';
import { AppConfig, CoreModule, QueueModule, rawSourcesProvider } from '@cityflow/common';
import { IngestRunProcessor } from './ingest-run.processor';
import { IngestorService } from './ingestor.service';

@Module({})
export class IngestorModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: IngestorModule,
      imports: [CoreModule.forRoot(config, 'ingestor'), QueueModule.forRoot(config, [QueueName.Ingest])],
      providers: [rawSourcesProvider(config), IngestorService, IngestRunProcessor],
    };
  }
}
