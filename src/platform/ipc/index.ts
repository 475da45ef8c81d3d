export { defineApi, methodPath, DEFAULT_TIMEOUT_MS, type ApiDescriptor, type ApiShape, type ApiMethod, type CallContext, type MethodSpec } from './define.js';
export { IpcError, isIpcError, type IpcErrorCode } from './errors.js';
export { IpcServer } from './server.js';
export { SocketClient } from './client.js';
export { ApiDirectory, type Client, type CallOptions, type Placement } from './directory.js';
