/**
 * Opens N keep-alive connections to a proxy, sends one GET on each, reads its
 * response, and keeps them all open and idle until closed: "500 idle
 * keep-alive connections" for the memory bench. Raw sockets, so nothing
 * client-side pools or closes them.
 */
import { connect, type Socket } from 'node:net';

export interface HeldConnections {
  close(): void;
}

export async function holdConnections(port: number, count: number, timeoutMs = 30_000): Promise<HeldConnections> {
  const sockets: Socket[] = [];
  const answered = (socket: Socket): Promise<void> =>
    new Promise((resolve, reject) => {
      let head = '';
      const onData = (chunk: Buffer): void => {
        head += chunk.toString('latin1');
        // The bench's `/` is a small fixed body: the status line is enough to know the request was served.
        if (head.includes('\r\n\r\n')) {
          socket.off('data', onData);
          socket.on('data', () => {});
          resolve();
        }
      };
      socket.on('data', onData);
      socket.once('error', reject);
      socket.once('close', () => reject(new Error('a held connection was closed by the proxy')));
    });
  const waits: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    const socket = connect(port, '127.0.0.1');
    sockets.push(socket);
    socket.write('GET / HTTP/1.1\r\nHost: bench\r\n\r\n');
    waits.push(answered(socket));
  }
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${count} connections not all served within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([Promise.all(waits), timeout]);
  } finally {
    clearTimeout(timer);
  }
  for (const socket of sockets) socket.removeAllListeners('close');
  return {
    close() {
      for (const socket of sockets) socket.destroy();
    },
  };
}
