/**
 * Loaded with `node --import` into a process the profile bench measures: the
 * first SIGUSR2 starts V8's sampling profiler, the second stops it and writes
 * the profile to $BALANCEBEAM_PROFILE_OUT. So the profile covers the measured
 * load only, not start-up or warm-up. SIGWINCH writes what the heap holds
 * (process.memoryUsage and V8's heap spaces) to $BALANCEBEAM_MEMORY_OUT, for
 * the memory bench's breakdown of RSS.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { getHeapSpaceStatistics } from 'node:v8';

const out = process.env['BALANCEBEAM_PROFILE_OUT'];
const memoryOut = process.env['BALANCEBEAM_MEMORY_OUT'];
/** µs between samples: fine enough for a 10 µs request, coarse enough to cost little. */
const SAMPLING_INTERVAL_US = 200;

if (out !== undefined) {
  const session = new Session();
  session.connect();
  let profiling = false;
  process.on('SIGUSR2', () => {
    if (!profiling) {
      profiling = true;
      session.post('Profiler.enable');
      session.post('Profiler.setSamplingInterval', { interval: SAMPLING_INTERVAL_US });
      session.post('Profiler.start');
      return;
    }
    profiling = false;
    session.post('Profiler.stop', (error, result) => {
      if (error === null) writeFileSync(out, JSON.stringify(result.profile));
    });
  });
}

if (memoryOut !== undefined) {
  process.on('SIGWINCH', () => {
    const spaces = Object.fromEntries(
      getHeapSpaceStatistics().map((space) => [space.space_name, { size: space.space_size, used: space.space_used_size, physical: space.physical_space_size }]),
    );
    writeFileSync(memoryOut, JSON.stringify({ usage: process.memoryUsage(), spaces }));
  });
}
