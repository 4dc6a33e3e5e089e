// CPU time, peak RSS and load of processes, from Linux's /proc (benchmarks time other processes with them).
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';

/** Linux reports process CPU time in clock ticks of 1/100 s (USER_HZ). */
const TICKS_PER_SECOND = 100;

/** `/proc/loadavg` as it reads (1, 5 and 15-minute load, runnable/total tasks, last pid). */
export function loadavgLine(): string {
  return readFileSync('/proc/loadavg', 'utf8').trim();
}

/** User + system CPU seconds of a process (with `children`, also of its children it has waited for); 0 once it is gone. */
export function procCpuSeconds(pid: number, children = false): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // After the command in parentheses: state is stat's field 3, so utime, stime, cutime, cstime (14-17) sit at 11-14.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const own = Number(f[11]) + Number(f[12]);
    return (children ? own + Number(f[13]) + Number(f[14]) : own) / TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

/** A `kB` field of /proc/PID/status in bytes; 0 once the process is gone. */
function statusBytes(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  try {
    const m = new RegExp(`${field}:\\s+(\\d+) kB`, 'u').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return Number(m?.[1] ?? 0) * 1024;
  } catch {
    return 0;
  }
}

/** Peak resident set size (VmHWM) of a live process in bytes; 0 once it is gone. */
export function procPeakRss(pid: number): number {
  return statusBytes(pid, 'VmHWM');
}

/** Resident set size (VmRSS) of a live process in bytes; 0 once it is gone. */
export function procRss(pid: number): number {
  return statusBytes(pid, 'VmRSS');
}

/**
 * Resets a process's peak RSS (VmHWM) to its current RSS (Linux: `5` to /proc/PID/clear_refs, allowed for
 * one's own processes), so the next procPeakRss is the peak since now. False where the kernel refuses.
 */
export function resetPeakRss(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/** A result with the wall and CPU seconds (this process) it took and the 1-minute load average before and after. */
export interface Timed<T> {
  readonly value: T;
  readonly wallS: number;
  readonly cpuS: number;
  readonly load1: [number, number];
}

const load1 = (): number => +(os.loadavg()[0] ?? 0).toFixed(2);

/** Runs `f` and times it (wall, this process's CPU, load around it). */
export async function timed<T>(f: () => T | Promise<T>): Promise<Timed<T>> {
  const l0 = load1();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const value = await f();
  const wallS = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return { value, wallS, cpuS: (cpu.user + cpu.system) / 1e6, load1: [l0, load1()] };
}
