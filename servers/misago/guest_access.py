# Run inside `django shell` by guest_access.sh (env CATEGORY_NAME, GUEST_ACCESS=on|off).
import os

from django.utils.text import slugify
from misago.acl.cache import clear_acl_cache
from misago.acl.models import Role
from misago.categories.models import Category, CategoryRole, RoleCategoryACL

name, access = os.environ["CATEGORY_NAME"], os.environ["GUEST_ACCESS"]
roles = {r.name: r for r in Role.objects.all()}
category_roles = {r.name: r for r in CategoryRole.objects.all()}
category = Category.objects.filter(name=name).first()
if category is None:
    root = Category.objects.root_category()
    category = Category(name=name, slug=slugify(name))
    category.insert_at(root, position="last-child", save=True)
    Category.objects.partial_rebuild(root.tree_id)
    for role, category_role in (("Member", "Start and reply threads"), ("Moderator", "Moderator")):
        RoleCategoryACL.objects.create(role=roles[role], category=category, category_role=category_roles[category_role])
RoleCategoryACL.objects.filter(role=roles["Guest"], category=category).delete()
if access == "on":
    RoleCategoryACL.objects.create(role=roles["Guest"], category=category, category_role=category_roles["Read only"])
clear_acl_cache()  # the running server reads the ACL cache version from the database
print(category.id)
