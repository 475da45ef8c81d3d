export { defineTopic, type TopicDescriptor, type LogRecord } from './topic.js';
export { logReaderApi, type LogReaderAPI, type ReadRequest, type ReadResponse } from './reader-api.js';
export { LogProducer, type Append } from './producer.js';
export { LogConsumer, type ConsumerOptions } from './consumer.js';
