/** A shopping cart: lines of (sku, quantity, unit price in cents). */
export interface CartLine {
  sku: string;
  quantity: number;
  unitCents: number;
}

export class Cart {
  private readonly lines: CartLine[] = [];

  add(sku: string, quantity: number, unitCents: number): void {
    const line = this.lines.find((l) => l.sku === sku);
    if (line) line.quantity += quantity;
    else this.lines.push({ sku, quantity, unitCents });
  }

  remove(sku: string): void {
    const i = this.lines.findIndex((l) => l.sku === sku);
    this.lines.splice(i, 1);
  }

  totalCents(): number {
    return this.lines.reduce((sum, l) => sum + l.quantity * l.unitCents, 0);
  }

  items(): readonly CartLine[] {
    return this.lines;
  }
}
