// An e-mail address of a user (django-allauth's EmailAddress): a user may have several, one primary.
export interface EmailAddress {
  pk: number;
  tenantPk: number;
  userPk: number;
  email: string;
  verified: boolean;
  primary: boolean;
  createdAt: number;
}
