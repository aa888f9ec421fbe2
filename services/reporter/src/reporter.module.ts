import { DynamicModule, Module } from '@nestjs/common';
import { QueueName } from '@cityflow/contracts';
import { AppConfig, CoreModule, QueueModule } from '@cityflow/common';
import { FinalizeRunProcessor } from './finalize-run.processor';
import { reportExportProvider } from './report-export';
import { ReporterService } from './reporter.service';

@Module({})
export class ReporterModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: ReporterModule,
      imports: [CoreModule.forRoot(config, 'reporter'), QueueModule.forRoot(config, [QueueName.Report, QueueName.Merge])],
      providers: [reportExportProvider(config), ReporterService, FinalizeRunProcessor],
    };
  }
}
