/** Discounts and tax, in cents. */
export interface Discount {
  code: string;
  percent: number;
}

export function applyDiscount(totalCents: number, discount: Discount | undefined): number {
  if (!discount) return totalCents;
  return totalCents - (totalCents * discount.percent) / 100;
}

export function withTax(totalCents: number, ratePercent: number): number {
  return Math.round(totalCents * (1 + ratePercent / 100));
}
