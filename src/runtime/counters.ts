/** Named monotonic counters (records in/out, late, dead-lettered, duplicates...). */
export class Counters {
  private readonly values = new Map<string, number>();

  add(name: string, n = 1): void {
    this.values.set(name, (this.values.get(name) ?? 0) + n);
  }

  get(name: string): number {
    return this.values.get(name) ?? 0;
  }

  snapshot(): Record<string, number> {
    return Object.fromEntries(this.values);
  }

  restore(saved: Record<string, number>): void {
    this.values.clear();
    for (const [k, v] of Object.entries(saved)) if (typeof v === 'number') this.values.set(k, v);
  }
}
