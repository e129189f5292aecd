/**
 * A process's log level, following reloads: the logger's threshold, and the
 * actor-event lines of `--log-level debug`, an inspection attached only while
 * the level is debug (it costs something per event).
 */
import { logActorEvents } from '../actors/inspection.js';
import type { MailboxRouter } from '../actors/router.js';
import { log, type LogLevel } from '../log.js';

export function followLogLevel(router: MailboxRouter): (level: LogLevel) => void {
  let detach: (() => void) | null = null;
  return (level) => {
    log.configure(level, router.node);
    if (level === 'debug' && detach === null) {
      detach = logActorEvents(router, (msg, fields) => log.debug(msg, fields));
    } else if (level !== 'debug' && detach !== null) {
      detach();
      detach = null;
    }
  };
}
