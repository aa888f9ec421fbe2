import { DynamicModule, Module } from '@nestjs/common';
import { QueueName } from '@cityflow/contracts';
import { AppConfig, CoreModule, QueueModule, rawSourcesProvider } from '@cityflow/common';
import { MergeDayProcessor } from './merge-day.processor';
import { ProcessChunkProcessor } from './process-chunk.processor';
import { ProcessorService } from './processor.service';

@Module({})
export class ProcessorModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: ProcessorModule,
      imports: [CoreModule.forRoot(config, 'processor'), QueueModule.forRoot(config, [QueueName.Process, QueueName.Merge])],
      providers: [rawSourcesProvider(config), ProcessorService, ProcessChunkProcessor, MergeDayProcessor],
    };
  }
}
