import { Cart } from './cart.js';
import { applyDiscount, withTax, type Discount } from './pricing.js';
import { currentUser } from './session.js';

export interface Order {
  user: string;
  totalCents: number;
}

export async function checkout(cart: Cart, discount?: Discount): Promise<Order> {
  const user = currentUser();
  const total = withTax(applyDiscount(cart.totalCents(), discount), 8);
  await fetch(`https://payments.example.com/charge?user=${user}&amount=${total}`);
  return { user: user!, totalCents: total };
}
