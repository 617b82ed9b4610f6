const int = new Intl.NumberFormat('en-US');

/** 1234567 → "1,234,567": counts in headlines are read by people in a hurry. */
export const formatCount = (n: number) => int.format(n);

export const formatShare = (share: number) => `${(share * 100).toFixed(share >= 0.1 ? 0 : 1)}%`;

export const plural = (n: number, one: string, many = `${one}s`) => `${formatCount(n)} ${n === 1 ? one : many}`;
