// Output that mixes log lines with a table refreshed in place: on a terminal
// the table stays at the bottom and is redrawn (cursor up, clear to the end
// of the screen); anywhere else each table is printed in turn, as plain lines
// a log file or a pipe can keep.

export interface Output {
  write(s: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export class LiveView {
  declare readonly tty: boolean;
  declare private readonly out: Output;
  private table: string[] = [];
  private drawn = 0;

  constructor(out: Output, tty = out.isTTY === true) {
    this.out = out;
    this.tty = tty;
  }

  /** A log line: above the table on a terminal. */
  line(s: string): void {
    if (!this.tty) {
      this.out.write(`${s}\n`);
      return;
    }
    this.erase();
    this.out.write(`${s}\n`);
    this.draw();
  }

  /** Show a table: redrawn in place on a terminal, printed (then a blank line) elsewhere. */
  show(lines: string[]): void {
    if (!this.tty) {
      this.out.write(`${lines.join('\n')}\n\n`);
      return;
    }
    this.erase();
    this.table = lines;
    this.draw();
  }

  /** Leave the last table where it is; later output goes below it. */
  release(): void {
    this.table = [];
    this.drawn = 0;
  }

  /** Remove the table from a terminal (nothing to do elsewhere). */
  clear(): void {
    this.erase();
    this.table = [];
  }

  private draw(): void {
    if (this.table.length === 0) return;
    // A line wider than the terminal wraps and would throw the redraw off.
    const width = Math.max(20, (this.out.columns || 120) - 1);
    this.out.write(`${this.table.map((l) => l.slice(0, width)).join('\n')}\n`);
    this.drawn = this.table.length;
  }

  private erase(): void {
    if (this.drawn > 0) this.out.write(`\x1b[${this.drawn}A\r\x1b[J`);
    this.drawn = 0;
  }
}
