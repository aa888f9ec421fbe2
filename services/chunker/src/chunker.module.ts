import { DynamicModule, Module } from '@nestjs/common';
import { QueueName } from '@cityflow/contracts';
import { AppConfig, CoreModule, QueueModule, rawSourcesProvider } from '@cityflow/common';
import { ChunkFileProcessor } from './chunk-file.processor';
import { ChunkerService } from './chunker.service';

@Module({})
export class ChunkerModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: ChunkerModule,
      imports: [CoreModule.forRoot(config, 'chunker'), QueueModule.forRoot(config, [QueueName.Chunk, QueueName.Process])],
      providers: [rawSourcesProvider(config), ChunkerService, ChunkFileProcessor],
    };
  }
}
