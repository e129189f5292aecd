/** The upstream-socket filter that drops 100 Continue before undici's parser sees it. */
import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';
import test from 'ava';
import { dropInterimContinues } from '../../src/proxy/interim-responses.js';

const FINAL = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok';

/** A socket stand-in: writes go nowhere, `arrive` makes bytes readable, `readAll` reads like undici does. */
function filteredSocket(): { socket: Socket; arrive: (bytes: string) => void; readAll: () => string } {
  const duplex = new Duplex({
    read() {},
    write(_chunk, _encoding, callback) {
      callback();
    },
  });
  const socket = duplex as unknown as Socket;
  dropInterimContinues(socket);
  return {
    socket,
    arrive: (bytes) => duplex.push(Buffer.from(bytes, 'latin1')),
    readAll: () => {
      let out = '';
      for (let chunk = socket.read() as Buffer | null; chunk !== null; chunk = socket.read() as Buffer | null) {
        out += chunk.toString('latin1');
      }
      return out;
    },
  };
}

test('after a request head, 100 heads before the final response are dropped; 103 is kept', (t) => {
  const { socket, arrive, readAll } = filteredSocket();
  socket.write('GET / HTTP/1.1\r\nhost: x\r\n\r\n', 'latin1');
  const early = 'HTTP/1.1 103 Early Hints\r\nLink: </a>; rel=preload\r\n\r\n';
  arrive(`HTTP/1.1 100 Continue\r\n\r\n${early}HTTP/1.1 100 Continue\r\nX-A: 1\r\n\r\n${FINAL}`);
  t.is(readAll(), early + FINAL);
});

test('heads that arrive one byte at a time are put together before they are judged', (t) => {
  const { socket, arrive, readAll } = filteredSocket();
  socket.write('POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\n\r\n', 'latin1');
  let out = '';
  for (const byte of `HTTP/1.1 100 Continue\r\n\r\n${FINAL}`) {
    arrive(byte);
    out += readAll();
  }
  t.is(out, FINAL);
});

test('once the final status line has passed, a body that looks like a 100 head is left alone', (t) => {
  const { socket, arrive, readAll } = filteredSocket();
  socket.write('GET / HTTP/1.1\r\nhost: x\r\n\r\n', 'latin1');
  arrive('HTTP/1.1 200 OK\r\nContent-Length: 25\r\n\r\n');
  t.is(readAll(), 'HTTP/1.1 200 OK\r\nContent-Length: 25\r\n\r\n');
  // Body bytes, and request body writes (Buffers, chunk framing strings) do not re-arm the filter.
  socket.write(Buffer.from('body'));
  socket.write('\r\n4\r\n', 'latin1');
  arrive('HTTP/1.1 100 Continue\r\n\r\n');
  t.is(readAll(), 'HTTP/1.1 100 Continue\r\n\r\n');
});

test('bytes that are not HTTP, however short, pass straight through for undici to reject', (t) => {
  const { socket, arrive, readAll } = filteredSocket();
  socket.write('GET / HTTP/1.1\r\nhost: x\r\n\r\n', 'latin1');
  arrive('garbage\r\n\r\n');
  t.is(readAll(), 'garbage\r\n\r\n');
});
